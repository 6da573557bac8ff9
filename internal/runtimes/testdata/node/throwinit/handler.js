console.log('init log line');
throw new Error('init exploded');
